//! Decoding a segment's luma planes with the ffmpeg CLI, streamed frame by frame.
//!
//! `-vf extractplanes=y` hands out the stored Y plane unchanged (`-pix_fmt gray`
//! would range-expand it). Frames are read one at a time, so a 300-frame 1080p
//! segment never sits in memory whole.

use crate::MediaError;
use std::io::Read;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

/// The first video stream's frame size.
pub fn probe_size(path: &Path) -> Result<(u32, u32), MediaError> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .map_err(|source| MediaError::Tool {
            tool: "ffprobe",
            source,
        })?;
    let decode_error = |reason: String| MediaError::Decode {
        path: path.display().to_string(),
        reason,
    };
    if !out.status.success() {
        return Err(decode_error(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next().unwrap_or("").trim();
    let (w, h) = line
        .split_once(',')
        .and_then(|(w, h)| {
            Some((
                w.parse::<u32>().ok()?,
                h.trim_end_matches(',').parse::<u32>().ok()?,
            ))
        })
        .filter(|(w, h)| *w > 0 && *h > 0)
        .ok_or_else(|| decode_error("no video stream".into()))?;
    Ok((w, h))
}

/// Luma planes of a video file, one `width × height` buffer per frame.
pub struct LumaFrames {
    pub width: u32,
    pub height: u32,
    path: String,
    child: Child,
    stdout: ChildStdout,
    done: bool,
}

impl LumaFrames {
    /// Starts decoding `path`.
    pub fn open(path: &Path) -> Result<Self, MediaError> {
        let (width, height) = probe_size(path)?;
        let mut child = Command::new("ffmpeg")
            .args(["-v", "error", "-nostdin", "-i"])
            .arg(path)
            .args([
                "-map",
                "0:v:0",
                "-vf",
                "extractplanes=y",
                "-f",
                "rawvideo",
                "pipe:1",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| MediaError::Tool {
                tool: "ffmpeg",
                source,
            })?;
        let stdout = child.stdout.take().expect("piped");
        Ok(Self {
            width,
            height,
            path: path.display().to_string(),
            child,
            stdout,
            done: false,
        })
    }

    /// The file being decoded, for messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn error(&self, reason: String) -> MediaError {
        MediaError::Decode {
            path: self.path.clone(),
            reason,
        }
    }

    /// Waits for ffmpeg and turns a failed exit into an error.
    fn finish(&mut self) -> Result<(), MediaError> {
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        let status = self.child.wait().map_err(|e| self.error(e.to_string()))?;
        if status.success() {
            Ok(())
        } else {
            Err(self.error(stderr.trim().to_string()))
        }
    }
}

impl Iterator for LumaFrames {
    type Item = Result<Vec<u8>, MediaError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut frame = vec![0u8; self.width as usize * self.height as usize];
        let mut filled = 0;
        while filled < frame.len() {
            match self.stdout.read(&mut frame[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) => {
                    self.done = true;
                    return Some(Err(self.error(e.to_string())));
                }
            }
        }
        if filled == frame.len() {
            return Some(Ok(frame));
        }
        self.done = true;
        match self.finish() {
            Err(e) => Some(Err(e)),
            Ok(()) if filled == 0 => None,
            Ok(()) => Some(Err(self.error(format!("truncated frame ({filled} bytes)")))),
        }
    }
}

impl Drop for LumaFrames {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
