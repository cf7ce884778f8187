//! Synthetic μ-law audio (G.711, 8 kHz, mono) for the fakes: silence and tones, 20 ms frames.

/// Bytes in one 20 ms frame of 8 kHz μ-law audio.
pub const FRAME_BYTES: usize = 160;

/// μ-law silence.
pub const SILENCE: u8 = 0xFF;

/// Encodes one linear 16-bit sample as G.711 μ-law.
#[must_use]
pub fn linear_to_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;
    let mut magnitude = i32::from(sample);
    let sign = if magnitude < 0 {
        magnitude = -magnitude;
        0x80
    } else {
        0
    };
    let magnitude = magnitude.min(CLIP) + BIAS;
    let segment = ((magnitude >> 7) & 0xFF) as u32;
    let exponent = if segment == 0 {
        0
    } else {
        31 - segment.leading_zeros() as i32
    };
    let mantissa = (magnitude >> (exponent + 3)) & 0x0F;
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// What a synthetic source sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioSource {
    /// μ-law silence (`0xFF`).
    Silence,
    /// A sine tone of this frequency (Hz), about -10 dBFS: "someone speaking".
    Tone(u32),
}

/// A continuous generator of 20 ms frames (the tone's phase runs on across frames).
#[derive(Debug, Clone)]
pub struct FrameSource {
    source: AudioSource,
    sample: u64,
}

impl FrameSource {
    /// A generator for `source`.
    #[must_use]
    pub fn new(source: AudioSource) -> Self {
        Self { source, sample: 0 }
    }

    /// Switches to another source, keeping the running sample count.
    pub fn set(&mut self, source: AudioSource) {
        self.source = source;
    }

    /// The next 160 bytes.
    pub fn next_frame(&mut self) -> Vec<u8> {
        let frame = match self.source {
            AudioSource::Silence => vec![SILENCE; FRAME_BYTES],
            AudioSource::Tone(hz) => (0..FRAME_BYTES as u64)
                .map(|i| {
                    let t = (self.sample + i) as f64 / 8_000.0;
                    let value = (2.0 * std::f64::consts::PI * f64::from(hz) * t).sin() * 10_000.0;
                    linear_to_ulaw(value as i16)
                })
                .collect(),
        };
        self.sample += FRAME_BYTES as u64;
        frame
    }
}
