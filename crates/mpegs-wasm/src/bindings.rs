//! The JavaScript API (wasm-bindgen, camelCase names): thin adapters over the
//! crate's Rust functions. Unusable input becomes a JS `Error`; a panic (none is
//! expected on any input) is printed with `console.error` before the wasm trap.

use crate::Unusable;
use js_sys::{Error, Function, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str);
}

/// Runs when the module is instantiated: panics go to the console with their
/// message and location.
#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error(&format!("mpegs-wasm panicked: {info}"));
    }));
}

fn js_error(e: Unusable) -> JsValue {
    Error::new(&e.0).into()
}

/// Verifies `image` (PNG or JPEG bytes) against `bundle` (the sidecar JSON) with
/// the verifying keys of `keySet` only; returns the report JSON of
/// `mpegs verify --json`. `secret`: the owner's secret file of private media.
/// `progress(done, total, stage)` is called as the work goes.
#[wasm_bindgen]
pub fn verify(
    image: &[u8],
    bundle: &str,
    #[wasm_bindgen(js_name = keySet)] key_set: &str,
    secret: Option<String>,
    #[wasm_bindgen(
        unchecked_optional_param_type = "(done: number, total: number, stage: string) => void"
    )]
    progress: Option<Function>,
) -> Result<String, JsValue> {
    let mut report = |done: usize, total: usize, stage: &str| {
        if let Some(f) = &progress {
            // A throwing callback must not stop verification.
            let _ = f.call3(
                &JsValue::NULL,
                &JsValue::from_f64(done as f64),
                &JsValue::from_f64(total as f64),
                &JsValue::from_str(stage),
            );
        }
    };
    crate::verify(image, bundle, key_set, secret.as_deref(), &mut report).map_err(js_error)
}

/// The keys of a key set, `[{id, vk_hash, description}]` as JSON, after the checks
/// `verify` makes (throws if any fails).
#[wasm_bindgen(js_name = keySetInfo)]
pub fn key_set_info(#[wasm_bindgen(js_name = keySet)] key_set: &str) -> Result<String, JsValue> {
    crate::key_set_info(key_set).map_err(js_error)
}

/// A new random device key: the JSON file `mpegs keygen` writes (keep it secret).
#[wasm_bindgen(js_name = deviceKey)]
pub fn device_key() -> String {
    crate::device_key()
}

/// The EVM address of a device key (`0x` + 40 lowercase hex digits).
#[wasm_bindgen(js_name = deviceAddress)]
pub fn device_address(key: &str) -> Result<String, JsValue> {
    crate::device_address(key).map_err(js_error)
}

/// A whole number of seconds that JavaScript can hold exactly.
fn seconds(value: f64) -> Result<u64, Unusable> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= 9007199254740991.0 {
        Ok(value as u64)
    } else {
        Err(Unusable(format!(
            "capturedAt must be a whole number of Unix seconds, got {value}"
        )))
    }
}

/// Attests a picture as `mpegs attest` does: returns `{png, bundle, secret}`
/// (the PNG bytes, the bundle JSON, the secret-file JSON).
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen(unchecked_return_type = "{png: Uint8Array, bundle: string, secret: string}")]
pub fn attest(
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: u32,
    key: &str,
    #[wasm_bindgen(js_name = deviceId)] device_id: &str,
    #[wasm_bindgen(js_name = capturedAt)] captured_at: f64,
    tile: u32,
) -> Result<Object, JsValue> {
    let captured_at = seconds(captured_at).map_err(js_error)?;
    let frame = crate::frame_of_pixels(pixels, width, height, channels).map_err(js_error)?;
    let a = crate::attest(&frame, key, device_id, captured_at, tile).map_err(js_error)?;
    let out = Object::new();
    Reflect::set(&out, &"png".into(), &Uint8Array::from(a.png.as_slice()))?;
    Reflect::set(&out, &"bundle".into(), &a.bundle.into())?;
    Reflect::set(&out, &"secret".into(), &a.secret.into())?;
    Ok(out)
}
