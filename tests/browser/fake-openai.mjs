// A fake of OpenAI's Responses API (`POST /v1/responses`) for the browser tests: the server's
// post-call summariser is pointed at it (OPENAI_API_BASE), so a call's page can show a summary.
// It checks the request as OpenAI would (Bearer key, JSON with model, instructions and input,
// store false) and answers 400 otherwise, so a wrong request fails the summary loudly. Prints
// "fake OpenAI listening: http://127.0.0.1:PORT" once ready.
import { createServer } from "node:http";

/** The summary every call gets: the browser tests look for it on the call's page. */
export const SUMMARY = "The caller asked the agent to pass a message on and wants a call back. (Summary by the browser tests' fake OpenAI.)";

function reject(response, status, message) {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify({ error: { message, type: "invalid_request_error", param: null, code: null } }));
}

const server = createServer((request, response) => {
  if (request.method !== "POST" || request.url !== "/v1/responses") return reject(response, 404, `no route ${request.method} ${request.url}`);
  if (!/^Bearer \S+$/.test(request.headers.authorization ?? "")) return reject(response, 401, "missing bearer key");
  let body = "";
  request.on("data", (chunk) => { body += chunk; });
  request.on("end", () => {
    let parsed;
    try { parsed = JSON.parse(body); } catch { return reject(response, 400, "the body is not JSON"); }
    const hasInput = typeof parsed.input === "string" ? parsed.input.length > 0 : Array.isArray(parsed.input) && parsed.input.length > 0;
    if (typeof parsed.model !== "string" || !hasInput || typeof parsed.instructions !== "string" || parsed.store !== false) {
      return reject(response, 400, "model, instructions, input and store:false are required");
    }
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({
      id: `resp_${Date.now()}`, object: "response", created_at: Math.floor(Date.now() / 1000),
      status: "completed", error: null, incomplete_details: null, model: parsed.model,
      output: [{
        type: "message", id: `msg_${Date.now()}`, status: "completed", role: "assistant",
        content: [{ type: "output_text", text: SUMMARY, annotations: [] }],
      }],
      parallel_tool_calls: true, store: false, temperature: 1.0, tool_choice: "auto", tools: [],
      top_p: 1.0, truncation: "disabled", metadata: {},
      usage: { input_tokens: 100, input_tokens_details: { cached_tokens: 0 }, output_tokens: 30, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 130 },
    }));
  });
});

if (process.argv[1] && process.argv[1].endsWith("fake-openai.mjs")) {
  server.listen(0, "127.0.0.1", () => {
    console.log(`fake OpenAI listening: http://127.0.0.1:${server.address().port}`);
  });
}
