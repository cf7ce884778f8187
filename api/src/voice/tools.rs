//! The functions the agent may call, and reading its calls of them.
//!
//! The model sees each tool's JSON Schema; what it sends back is untrusted text that may miss
//! fields or hold the wrong types, so arguments are checked here and a bad call becomes an
//! error result for the model (`{"ok":false,"error":…}`), never a crash of the bridge.

use domain::call::Urgency;
use infrastructure::openai::realtime::Tool;
use serde::Deserialize;
use serde_json::json;

/// `take_message`: the caller's message for the owner.
pub const TAKE_MESSAGE: &str = "take_message";
/// `end_call`: say goodbye and hang up.
pub const END_CALL: &str = "end_call";
/// `transfer_to_owner`: try the owner's phone again.
pub const TRANSFER_TO_OWNER: &str = "transfer_to_owner";

/// What the agent asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolCall {
    /// Record a message for the owner.
    TakeMessage {
        /// The caller's name, if given.
        caller_name: Option<String>,
        /// Where to call back, if given.
        callback_number: Option<String>,
        /// The message.
        message: String,
        /// How urgent.
        urgency: Urgency,
    },
    /// Say goodbye, then hang up.
    EndCall,
    /// Put the caller through to the owner.
    TransferToOwner,
}

/// Why a call of a tool was not carried out; sent back to the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// No such tool.
    #[error("unknown tool '{0}'")]
    Unknown(String),
    /// The arguments do not fit the tool's schema.
    #[error("bad arguments for {tool}: {why}")]
    BadArguments {
        /// The tool.
        tool: &'static str,
        /// What is wrong.
        why: String,
    },
    /// The tool exists but cannot be used on this call.
    #[error("{0}")]
    Unavailable(&'static str),
}

/// The tools offered to the agent; `transfer_to_owner` only when the owner has a phone.
pub fn definitions(can_transfer: bool) -> Vec<Tool> {
    let mut tools = vec![
        Tool {
            name: TAKE_MESSAGE.to_owned(),
            description: "Record a message for the business owner. Call it once the caller has \
                          said what they want passed on; read the callback number back first."
                .to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "caller_name": {"type": "string", "description": "The caller's name, if given."},
                    "callback_number": {"type": "string", "description": "Where the owner can call back, if given."},
                    "message": {"type": "string", "description": "The message, in a few sentences."},
                    "urgency": {"type": "string", "enum": ["low", "normal", "high"], "description": "How urgent the caller says it is."}
                },
                "required": ["message", "urgency"],
                "additionalProperties": false
            }),
        },
        Tool {
            name: END_CALL.to_owned(),
            description: "End the call once the conversation is over. The caller hears the \
                          goodbye you say next, then the line is hung up."
                .to_owned(),
            parameters: json!({"type": "object", "properties": {}, "additionalProperties": false}),
        },
    ];
    if can_transfer {
        tools.push(Tool {
            name: TRANSFER_TO_OWNER.to_owned(),
            description: "Put the caller through to the business owner's phone, when the caller \
                          insists on speaking to a person. Tell the caller first; if the owner \
                          does not answer, the call comes back to you."
                .to_owned(),
            parameters: json!({"type": "object", "properties": {}, "additionalProperties": false}),
        });
    }
    tools
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TakeMessageArgs {
    caller_name: Option<String>,
    callback_number: Option<String>,
    message: String,
    urgency: Option<Urgency>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoArgs {}

/// Reads a call of `name` with `arguments` (a JSON string, as the model sent it).
///
/// # Errors
/// [`ToolError::Unknown`] for a tool we do not offer, [`ToolError::BadArguments`] when the
/// arguments are not the tool's JSON object or the message is empty.
pub fn parse(name: &str, arguments: &str) -> Result<ToolCall, ToolError> {
    // Models send "" for a call without arguments.
    let arguments = if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    };
    let is_object =
        serde_json::from_str::<serde_json::Value>(arguments).is_ok_and(|value| value.is_object());
    if !is_object {
        if let Some(tool) = [TAKE_MESSAGE, END_CALL, TRANSFER_TO_OWNER]
            .into_iter()
            .find(|tool| *tool == name)
        {
            return Err(ToolError::BadArguments {
                tool,
                why: "the arguments are not a JSON object".to_owned(),
            });
        }
    }
    let bad = |tool: &'static str| {
        move |err: serde_json::Error| ToolError::BadArguments {
            tool,
            why: err.to_string(),
        }
    };
    match name {
        TAKE_MESSAGE => {
            let args: TakeMessageArgs =
                serde_json::from_str(arguments).map_err(bad(TAKE_MESSAGE))?;
            if args.message.trim().is_empty() {
                return Err(ToolError::BadArguments {
                    tool: TAKE_MESSAGE,
                    why: "the message is empty".to_owned(),
                });
            }
            let given = |text: Option<String>| text.filter(|t| !t.trim().is_empty());
            Ok(ToolCall::TakeMessage {
                caller_name: given(args.caller_name),
                callback_number: given(args.callback_number),
                message: args.message,
                urgency: args.urgency.unwrap_or_default(),
            })
        }
        END_CALL => {
            let NoArgs {} = serde_json::from_str(arguments).map_err(bad(END_CALL))?;
            Ok(ToolCall::EndCall)
        }
        TRANSFER_TO_OWNER => {
            let NoArgs {} = serde_json::from_str(arguments).map_err(bad(TRANSFER_TO_OWNER))?;
            Ok(ToolCall::TransferToOwner)
        }
        other => Err(ToolError::Unknown(other.to_owned())),
    }
}

/// The result of a tool that worked.
pub fn succeeded() -> String {
    json!({"ok": true}).to_string()
}

/// The result of a tool that did not work, for the model to explain or try otherwise.
pub fn failed(error: &ToolError) -> String {
    json!({"ok": false, "error": error.to_string()}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_read_a_message_with_every_field() {
        let call = parse(
            TAKE_MESSAGE,
            r#"{"caller_name":"Ann","callback_number":"+14155550111","message":"Sink leaks","urgency":"high"}"#,
        );

        assert_eq!(
            call,
            Ok(ToolCall::TakeMessage {
                caller_name: Some("Ann".into()),
                callback_number: Some("+14155550111".into()),
                message: "Sink leaks".into(),
                urgency: Urgency::High,
            })
        );
    }

    #[test]
    fn it_should_read_a_message_without_the_optional_fields() {
        let call = parse(TAKE_MESSAGE, r#"{"message":"Call me","caller_name":" "}"#);

        assert_eq!(
            call,
            Ok(ToolCall::TakeMessage {
                caller_name: None,
                callback_number: None,
                message: "Call me".into(),
                urgency: Urgency::Normal,
            })
        );
    }

    #[test]
    fn it_should_refuse_bad_arguments_and_unknown_tools() {
        for (name, arguments) in [
            (TAKE_MESSAGE, r#"{"urgency":"high"}"#),
            (TAKE_MESSAGE, r#"{"message":"  ","urgency":"low"}"#),
            (TAKE_MESSAGE, r#"{"message":"x","urgency":"asap"}"#),
            (TAKE_MESSAGE, "not json"),
            (END_CALL, r#"{"now":true}"#),
            (END_CALL, "[]"),
        ] {
            assert!(
                matches!(parse(name, arguments), Err(ToolError::BadArguments { .. })),
                "{name} {arguments}"
            );
        }
        assert_eq!(
            parse("order_pizza", "{}"),
            Err(ToolError::Unknown("order_pizza".into()))
        );
    }

    #[test]
    fn it_should_take_calls_without_arguments_as_empty_objects() {
        assert_eq!(parse(END_CALL, ""), Ok(ToolCall::EndCall));
        assert_eq!(
            parse(TRANSFER_TO_OWNER, "{}"),
            Ok(ToolCall::TransferToOwner)
        );
    }

    #[test]
    fn it_should_offer_the_transfer_only_when_there_is_an_owner_phone() {
        let names = |tools: Vec<Tool>| tools.into_iter().map(|t| t.name).collect::<Vec<_>>();

        assert_eq!(names(definitions(false)), [TAKE_MESSAGE, END_CALL]);
        assert_eq!(
            names(definitions(true)),
            [TAKE_MESSAGE, END_CALL, TRANSFER_TO_OWNER]
        );
        let take = &definitions(false)[0];
        assert_eq!(take.parameters["required"], json!(["message", "urgency"]));
        assert_eq!(
            take.parameters["properties"]["urgency"]["enum"],
            json!(["low", "normal", "high"])
        );
    }

    #[test]
    fn it_should_answer_the_model_in_json() {
        assert_eq!(succeeded(), r#"{"ok":true}"#);
        let failed: serde_json::Value =
            serde_json::from_str(&failed(&ToolError::Unknown("x".into()))).unwrap();
        assert_eq!(failed["ok"], false);
        assert_eq!(failed["error"], "unknown tool 'x'");
    }
}
