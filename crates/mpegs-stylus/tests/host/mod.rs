//! A minimal Stylus host for running the built contract in wasmi: the `vm_hooks`
//! imports the contract uses, with static calls to 0x06/0x07/0x08 served by revm's
//! BN254 precompiles (real computations) and `native_keccak256` by alloy's keccak. Shared by `tests/wasm_host.rs` and
//! `examples/cost.rs`; `meter` adds Stylus-style ink metering.

#![allow(dead_code)]

pub mod meter;

use alloy_primitives::{keccak256, U256};
use std::path::PathBuf;
use wasmi::{Caller, Config, Engine, Extern, Linker, Memory, Module, Store};

/// The imports this host implements; any other import fails the run with its name.
pub const HOOKS: &[&str] = &[
    "read_args",
    "write_result",
    "pay_for_memory_grow",
    "msg_reentrant",
    "storage_flush_cache",
    "static_call_contract",
    "read_return_data",
    "return_data_size",
    "msg_value",
    "native_keccak256",
    // Imported (stylus-sdk's `RawCall` links every call kind) but never called by
    // the verifier: they trap here.
    "call_contract",
    "delegate_call_contract",
];

/// The built contract for `circuit` (`<circuit id>` or `<circuit id>_pairing-wasm`).
pub fn wasm_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/stylus")
        .join(format!("mpegs_stylus_{name}.wasm"))
}

/// Reads the built contract, or fails with how to build it.
pub fn load(name: &str) -> Vec<u8> {
    let path = wasm_path(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: run scripts/build-stylus.sh first (it builds the Stylus contracts)",
            path.display()
        )
    })
}

/// `verifyProof(uint256[12],uint256[n])` calldata.
pub fn calldata(proof: &[U256; 12], inputs: &[U256]) -> Vec<u8> {
    let signature = format!("verifyProof(uint256[12],uint256[{}])", inputs.len());
    let mut data = keccak256(signature.as_bytes())[..4].to_vec();
    for w in proof.iter().chain(inputs) {
        data.extend_from_slice(&w.to_be_bytes::<32>());
    }
    data
}

/// The 4-byte selector of a Solidity error signature.
pub fn error_selector(signature: &str) -> [u8; 4] {
    keccak256(signature.as_bytes())[..4].try_into().unwrap()
}

/// One host call made by the contract, for cost accounting.
#[derive(Clone, Debug)]
pub enum HostCall {
    ReadArgs(usize),
    WriteResult(usize),
    StaticCall {
        to: u8,
        input_len: usize,
        gas: u64,
    },
    ReadReturnData(usize),
    /// `native_keccak256` of this many bytes.
    Keccak(usize),
    PayForMemoryGrow(u32),
    Other(&'static str),
}

#[derive(Default)]
struct State {
    args: Vec<u8>,
    result: Vec<u8>,
    return_data: Vec<u8>,
    calls: Vec<HostCall>,
    memory: Option<Memory>,
}

/// What one `user_entrypoint` call did.
#[derive(Debug)]
pub struct Outcome {
    /// The entrypoint's status: 0 success, 1 revert.
    pub status: i32,
    /// The bytes written with `write_result` (revert data on failure).
    pub result: Vec<u8>,
    /// wasmi fuel consumed by the call (roughly one unit per executed instruction).
    pub fuel: u64,
    /// Host calls in order.
    pub calls: Vec<HostCall>,
    /// The meter's globals, when the module was instrumented by `meter::instrument`.
    pub metered: Option<meter::Reading>,
}

impl Outcome {
    /// Gas charged by the precompiles (EIP-1108 prices, as revm computed them).
    pub fn precompile_gas(&self) -> u64 {
        self.calls
            .iter()
            .map(|c| match c {
                HostCall::StaticCall { gas, .. } => *gas,
                _ => 0,
            })
            .sum()
    }

    pub fn static_calls(&self) -> usize {
        self.calls
            .iter()
            .filter(|c| matches!(c, HostCall::StaticCall { .. }))
            .count()
    }

    /// The lengths hashed by `native_keccak256`, in order.
    pub fn keccaks(&self) -> Vec<usize> {
        self.calls
            .iter()
            .filter_map(|c| match c {
                HostCall::Keccak(n) => Some(*n),
                _ => None,
            })
            .collect()
    }
}

/// A BN254 precompile run by revm: `(output, gas)` or `None` if it fails.
pub fn precompile(to: u8, input: &[u8]) -> Option<(Vec<u8>, u64)> {
    use revm_precompile::bn254::{run_add, run_mul, run_pair};
    let out = match to {
        0x06 => run_add(input, 150, u64::MAX),
        0x07 => run_mul(input, 6_000, u64::MAX),
        0x08 => run_pair(input, 34_000, 45_000, u64::MAX),
        _ => return None,
    }
    .ok()?;
    Some((out.bytes.to_vec(), out.gas_used))
}

fn memory(caller: &Caller<'_, State>) -> Memory {
    caller.data().memory.expect("memory is set before the call")
}

fn read(caller: &Caller<'_, State>, ptr: i32, len: usize) -> Result<Vec<u8>, wasmi::Error> {
    let mut buf = vec![0u8; len];
    memory(caller)
        .read(caller, ptr as u32 as usize, &mut buf)
        .map_err(|e| wasmi::Error::new(format!("read out of bounds: {e}")))?;
    Ok(buf)
}

fn write(caller: &mut Caller<'_, State>, ptr: i32, data: &[u8]) -> Result<(), wasmi::Error> {
    let mem = memory(caller);
    mem.write(caller, ptr as u32 as usize, data)
        .map_err(|e| wasmi::Error::new(format!("write out of bounds: {e}")))
}

fn linker(engine: &Engine) -> Linker<State> {
    let mut l = Linker::<State>::new(engine);
    l.func_wrap(
        "vm_hooks",
        "read_args",
        |mut c: Caller<'_, State>, dest: i32| -> Result<(), wasmi::Error> {
            let args = c.data().args.clone();
            c.data_mut().calls.push(HostCall::ReadArgs(args.len()));
            write(&mut c, dest, &args)
        },
    )
    .unwrap();
    l.func_wrap(
        "vm_hooks",
        "write_result",
        |mut c: Caller<'_, State>, ptr: i32, len: i32| -> Result<(), wasmi::Error> {
            let data = read(&c, ptr, len as u32 as usize)?;
            c.data_mut().calls.push(HostCall::WriteResult(data.len()));
            c.data_mut().result = data;
            Ok(())
        },
    )
    .unwrap();
    l.func_wrap(
        "vm_hooks",
        "pay_for_memory_grow",
        |mut c: Caller<'_, State>, pages: i32| {
            c.data_mut()
                .calls
                .push(HostCall::PayForMemoryGrow(pages as u32));
        },
    )
    .unwrap();
    l.func_wrap(
        "vm_hooks",
        "msg_reentrant",
        |mut c: Caller<'_, State>| -> i32 {
            c.data_mut().calls.push(HostCall::Other("msg_reentrant"));
            0
        },
    )
    .unwrap();
    l.func_wrap(
        "vm_hooks",
        "storage_flush_cache",
        |mut c: Caller<'_, State>, _clear: i32| {
            c.data_mut()
                .calls
                .push(HostCall::Other("storage_flush_cache"));
        },
    )
    .unwrap();
    l.func_wrap(
        "vm_hooks",
        "msg_value",
        |mut c: Caller<'_, State>, ptr: i32| -> Result<(), wasmi::Error> {
            c.data_mut().calls.push(HostCall::Other("msg_value"));
            write(&mut c, ptr, &[0u8; 32])
        },
    )
    .unwrap();
    l.func_wrap(
        "vm_hooks",
        "native_keccak256",
        |mut c: Caller<'_, State>, bytes: i32, len: i32, output: i32| -> Result<(), wasmi::Error> {
            let data = read(&c, bytes, len as u32 as usize)?;
            c.data_mut().calls.push(HostCall::Keccak(data.len()));
            write(&mut c, output, keccak256(&data).as_slice())
        },
    )
    .unwrap();
    l.func_wrap(
        "vm_hooks",
        "static_call_contract",
        |mut c: Caller<'_, State>,
         contract: i32,
         data: i32,
         len: i32,
         _gas: i64,
         ret_len: i32|
         -> Result<i32, wasmi::Error> {
            let address = read(&c, contract, 20)?;
            let input = read(&c, data, len as u32 as usize)?;
            if address[..19].iter().any(|b| *b != 0) || !(6..=8).contains(&address[19]) {
                return Err(wasmi::Error::new(format!(
                    "static call to unexpected address 0x{}",
                    alloy_primitives::hex::encode(&address)
                )));
            }
            let to = address[19];
            let (status, output, gas) = match precompile(to, &input) {
                Some((out, gas)) => (0, out, gas),
                // A failing precompile consumes all gas it was given and returns nothing.
                None => (1, Vec::new(), 0),
            };
            c.data_mut().calls.push(HostCall::StaticCall {
                to,
                input_len: input.len(),
                gas,
            });
            let n = (output.len() as u32).to_le_bytes();
            c.data_mut().return_data = output;
            write(&mut c, ret_len, &n)?;
            Ok(status)
        },
    )
    .unwrap();
    l.func_wrap(
        "vm_hooks",
        "read_return_data",
        |mut c: Caller<'_, State>,
         dest: i32,
         offset: i32,
         size: i32|
         -> Result<i32, wasmi::Error> {
            let data = c.data().return_data.clone();
            let start = (offset as u32 as usize).min(data.len());
            let end = start.saturating_add(size as u32 as usize).min(data.len());
            let slice = data[start..end].to_vec();
            c.data_mut()
                .calls
                .push(HostCall::ReadReturnData(slice.len()));
            write(&mut c, dest, &slice)?;
            Ok(slice.len() as i32)
        },
    )
    .unwrap();
    l.func_wrap(
        "vm_hooks",
        "call_contract",
        |_: Caller<'_, State>,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i64,
         _: i32|
         -> Result<i32, wasmi::Error> {
            Err(wasmi::Error::new(
                "unexpected call_contract: the verifier only makes static calls",
            ))
        },
    )
    .unwrap();
    l.func_wrap(
        "vm_hooks",
        "delegate_call_contract",
        |_: Caller<'_, State>,
         _: i32,
         _: i32,
         _: i32,
         _: i64,
         _: i32|
         -> Result<i32, wasmi::Error> {
            Err(wasmi::Error::new(
                "unexpected delegate_call_contract: the verifier only makes static calls",
            ))
        },
    )
    .unwrap();
    l.func_wrap(
        "vm_hooks",
        "return_data_size",
        |mut c: Caller<'_, State>| -> i32 {
            c.data_mut().calls.push(HostCall::Other("return_data_size"));
            c.data().return_data.len() as i32
        },
    )
    .unwrap();
    l
}

/// The module's imports that this host does not implement.
pub fn unexpected_imports(wasm: &[u8]) -> Vec<String> {
    let engine = Engine::default();
    let module = Module::new(&engine, wasm).expect("the contract is valid WASM");
    module
        .imports()
        .filter(|i| i.module() != "vm_hooks" || !HOOKS.contains(&i.name()))
        .map(|i| format!("{}::{}", i.module(), i.name()))
        .collect()
}

/// Instantiates `wasm` (fresh, as Stylus does per call) and calls
/// `user_entrypoint(len)` with `calldata`.
pub fn run(wasm: &[u8], calldata: &[u8]) -> Result<Outcome, String> {
    let unexpected = unexpected_imports(wasm);
    if !unexpected.is_empty() {
        return Err(format!(
            "the contract imports hooks this host lacks: {unexpected:?}"
        ));
    }
    let mut config = Config::default();
    config.consume_fuel(true);
    let engine = Engine::new(&config);
    let module = Module::new(&engine, wasm).map_err(|e| e.to_string())?;
    let mut store = Store::new(
        &engine,
        State {
            args: calldata.to_vec(),
            ..State::default()
        },
    );
    store.set_fuel(u64::MAX).map_err(|e| e.to_string())?;
    let instance = linker(&engine)
        .instantiate_and_start(&mut store, &module)
        .map_err(|e| format!("instantiation: {e}"))?;
    let memory = instance
        .get_export(&store, "memory")
        .and_then(Extern::into_memory)
        .ok_or("the contract exports no memory")?;
    store.data_mut().memory = Some(memory);
    let entry = instance
        .get_typed_func::<i32, i32>(&store, "user_entrypoint")
        .map_err(|e| format!("user_entrypoint: {e}"))?;
    let before = store.get_fuel().map_err(|e| e.to_string())?;
    let status = entry
        .call(&mut store, calldata.len() as i32)
        .map_err(|e| format!("trap: {e}"))?;
    let fuel = before - store.get_fuel().map_err(|e| e.to_string())?;
    let metered = meter::read(&instance, &store);
    let state = store.into_data();
    Ok(Outcome {
        status,
        result: state.result,
        fuel,
        calls: state.calls,
        metered,
    })
}
