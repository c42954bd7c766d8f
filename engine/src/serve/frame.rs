//! Docker's multiplexed stream framing ("stdcopy"), used when a container has no TTY: each
//! chunk of output is an 8-byte header `[stream, 0, 0, 0, len as u32 big-endian]` then
//! `len` bytes, stream 0 = stdin, 1 = stdout, 2 = stderr. With a TTY the stream is raw.

/// Which of the container's streams a chunk came from (the header's first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum StdStream {
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
}

impl StdStream {
    /// The stream named as the json-file log names it ("stdout", "stderr").
    pub fn from_log_name(name: &str) -> Option<Self> {
        match name {
            "stdout" => Some(Self::Stdout),
            "stderr" => Some(Self::Stderr),
            "stdin" => Some(Self::Stdin),
            _ => None,
        }
    }
}

/// The largest payload one frame carries (the header's length is a u32).
const MAX_FRAME: usize = u32::MAX as usize;

/// Appends `payload` to `out` as one or more frames of `stream` (more than one only past
/// 4 GiB, the header's limit).
pub fn write_frames(out: &mut Vec<u8>, stream: StdStream, payload: &[u8]) {
    for chunk in payload.chunks(MAX_FRAME) {
        // `chunks` caps each chunk at MAX_FRAME, so the length fits the u32 header.
        let len = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&header(stream, len));
        out.extend_from_slice(chunk);
    }
}

/// The 8-byte header of a frame of `len` bytes.
pub fn header(stream: StdStream, len: u32) -> [u8; 8] {
    let l = len.to_be_bytes();
    [stream as u8, 0, 0, 0, l[0], l[1], l[2], l[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_stream_and_big_endian_length() {
        let mut out = Vec::new();
        write_frames(&mut out, StdStream::Stderr, b"hello\n");
        assert_eq!(&out[..8], &[2, 0, 0, 0, 0, 0, 0, 6]);
        assert_eq!(&out[8..], b"hello\n");
        write_frames(&mut out, StdStream::Stdout, &[7u8; 300]);
        assert_eq!(&out[14..22], &[1, 0, 0, 0, 0, 0, 1, 44]);
    }

    #[test]
    fn empty_payload_writes_no_frame() {
        let mut out = Vec::new();
        write_frames(&mut out, StdStream::Stdout, b"");
        assert!(out.is_empty());
    }
}
