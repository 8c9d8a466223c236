//! Progress bars on a TTY (stderr), silence otherwise.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mpegs_provenance::prove::Progress;
use std::io::IsTerminal;
use std::sync::Mutex;

pub struct Bars {
    current: Mutex<Option<ProgressBar>>,
    enabled: bool,
}

impl Bars {
    pub fn new(quiet: bool) -> Self {
        Self {
            current: Mutex::new(None),
            enabled: !quiet && std::io::stderr().is_terminal(),
        }
    }
}

impl Progress for Bars {
    fn phase(&self, label: &str, total: u64) {
        let bar = if !self.enabled {
            ProgressBar::hidden()
        } else if total == 0 {
            // Unknown length (e.g. frames of a video being decoded): a counter.
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg:40} {pos} {elapsed_precise}")
                    .expect("valid template"),
            );
            bar.set_message(label.to_string());
            bar
        } else {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:40} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_message(label.to_string());
            bar
        };
        *self.current.lock().expect("progress lock") = Some(bar);
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = self.current.lock().expect("progress lock").as_ref() {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.current.lock().expect("progress lock").take() {
            bar.finish();
        }
    }
}
