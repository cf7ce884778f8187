//! Synthetic G.711 μ-law audio (8 kHz, mono) for the demo agent and the call simulator: soft
//! tones for "speech", silence, and a loudness test that stands in for voice activity detection.

/// Bytes of μ-law in 20 ms (Twilio's frame, and the demo agent's delta size).
pub const FRAME_BYTES: usize = 160;
/// μ-law silence.
pub const SILENCE: u8 = 0xFF;
/// Samples (bytes) per second.
pub const BYTES_PER_SECOND: usize = 8_000;
/// Mean absolute amplitude (16-bit linear) above which audio counts as someone speaking.
const LOUD: u32 = 500;

/// Encodes one linear 16-bit sample as G.711 μ-law.
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
    // At most 32_767: the segment has at most 8 bits, so the exponent is 0..=7.
    let segment = ((magnitude >> 7) & 0xFF) as u32;
    let exponent = if segment == 0 {
        0
    } else {
        31 - segment.leading_zeros() as i32
    };
    let mantissa = (magnitude >> (exponent + 3)) & 0x0F;
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// Decodes one G.711 μ-law byte to a linear 16-bit sample.
pub fn ulaw_to_linear(byte: u8) -> i16 {
    let byte = !byte;
    let sign = byte & 0x80;
    let exponent = i32::from((byte >> 4) & 0x07);
    let mantissa = i32::from(byte & 0x0F);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    let magnitude = magnitude as i16;
    if sign == 0 {
        magnitude
    } else {
        -magnitude
    }
}

/// Whether `audio` (μ-law) is loud enough to be speech rather than silence or line noise.
pub fn is_loud(audio: &[u8]) -> bool {
    if audio.is_empty() {
        return false;
    }
    let total: u64 = audio
        .iter()
        .map(|byte| u64::from(ulaw_to_linear(*byte).unsigned_abs()))
        .sum();
    total / audio.len() as u64 > u64::from(LOUD)
}

/// A continuous sine tone, 20 ms at a time (the phase runs on across frames).
#[derive(Debug, Clone)]
pub struct Tone {
    hz: f64,
    amplitude: f64,
    sample: u64,
}

impl Tone {
    /// A tone of `hz` at `amplitude` (16-bit linear peak).
    pub fn new(hz: u32, amplitude: i16) -> Self {
        Self {
            hz: f64::from(hz),
            amplitude: f64::from(amplitude),
            sample: 0,
        }
    }

    /// The next `bytes` of the tone.
    pub fn next(&mut self, bytes: usize) -> Vec<u8> {
        let start = self.sample;
        self.sample += bytes as u64;
        (start..self.sample)
            .map(|i| {
                let t = i as f64 / BYTES_PER_SECOND as f64;
                let value = (2.0 * std::f64::consts::PI * self.hz * t).sin() * self.amplitude;
                linear_to_ulaw(value as i16)
            })
            .collect()
    }
}

/// Play-out time of `bytes` of μ-law, in milliseconds.
pub fn millis(bytes: usize) -> u64 {
    (bytes / (BYTES_PER_SECOND / 1_000)) as u64
}
