//! One response of the demo agent, as the Realtime API streams it (GA): `response.created`, the
//! agent's message item with its audio deltas (160 bytes of a soft tone each) and transcript,
//! then an optional function call item, then `response.done`.

use base64::Engine;
use serde_json::{json, Value};

use super::super::audio::{self, Tone, FRAME_BYTES};
use super::{Script, Utterance};

impl Script {
    /// One whole response: audio with its transcript, and/or a function call. Returns the
    /// events and the function call's `call_id`.
    pub(super) fn respond(
        &mut self,
        say: Option<&Utterance>,
        call: Option<(&str, Value)>,
    ) -> (Vec<String>, Option<String>) {
        let response_id = self.id("resp");
        let mut out = vec![self.event(json!({
            "type": "response.created",
            "response": response(&response_id, "in_progress", Vec::new()),
        }))];
        let mut output = Vec::new();
        if let Some(say) = say {
            let item_id = self.id("item");
            let part = |event: &str| {
                json!({
                    "type": event,
                    "response_id": response_id,
                    "item_id": item_id,
                    "output_index": 0,
                    "content_index": 0,
                })
            };
            out.push(self.event(json!({
                "type": "response.output_item.added",
                "response_id": response_id,
                "output_index": 0,
                "item": assistant_item(&item_id, "in_progress", None),
            })));
            let mut delta = part("response.output_audio_transcript.delta");
            delta["delta"] = json!(say.text);
            out.push(self.event(delta));
            let mut tone = Tone::new(say.hz, 2_500);
            let bytes = (say.millis as usize) * (audio::BYTES_PER_SECOND / 1_000);
            for _ in 0..bytes.div_ceil(FRAME_BYTES) {
                let mut event = part("response.output_audio.delta");
                event["delta"] =
                    json!(base64::engine::general_purpose::STANDARD.encode(tone.next(FRAME_BYTES)));
                out.push(self.event(event));
            }
            out.push(self.event(part("response.output_audio.done")));
            let mut done = part("response.output_audio_transcript.done");
            done["transcript"] = json!(say.text);
            out.push(self.event(done));
            let item = assistant_item(&item_id, "completed", Some(say.text));
            out.push(self.event(json!({
                "type": "response.output_item.done",
                "response_id": response_id,
                "output_index": 0,
                "item": item,
            })));
            output.push(item);
        }
        let mut call_id = None;
        if let Some((name, arguments)) = call {
            let (item_id, id) = (self.id("item"), self.id("call"));
            let arguments = arguments.to_string();
            let output_index = output.len();
            out.push(self.event(json!({
                "type": "response.output_item.added",
                "response_id": response_id,
                "output_index": output_index,
                "item": function_call_item(&item_id, "in_progress", &id, name, ""),
            })));
            out.push(self.event(json!({
                "type": "response.function_call_arguments.done",
                "response_id": response_id,
                "item_id": item_id,
                "output_index": output_index,
                "call_id": id,
                "name": name,
                "arguments": arguments,
            })));
            let item = function_call_item(&item_id, "completed", &id, name, &arguments);
            out.push(self.event(json!({
                "type": "response.output_item.done",
                "response_id": response_id,
                "output_index": output_index,
                "item": item,
            })));
            output.push(item);
            call_id = Some(id);
        }
        out.push(self.event(json!({
            "type": "response.done",
            "response": response(&response_id, "completed", output),
        })));
        (out, call_id)
    }
}

fn response(id: &str, status: &str, output: Vec<Value>) -> Value {
    json!({
        "object": "realtime.response",
        "id": id,
        "status": status,
        "status_details": null,
        "output": output,
        "conversation_id": "conv_demo",
        "output_modalities": ["audio"],
        "usage": null,
        "metadata": null,
    })
}

fn assistant_item(id: &str, status: &str, transcript: Option<&str>) -> Value {
    let content = match transcript {
        Some(transcript) => json!([{"type": "output_audio", "transcript": transcript}]),
        None => json!([]),
    };
    json!({
        "id": id,
        "object": "realtime.item",
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    })
}

fn function_call_item(id: &str, status: &str, call_id: &str, name: &str, arguments: &str) -> Value {
    json!({
        "id": id,
        "object": "realtime.item",
        "type": "function_call",
        "status": status,
        "name": name,
        "call_id": call_id,
        "arguments": arguments,
    })
}
