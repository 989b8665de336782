/// The chat page served at `/`: one self-contained HTML file (no outside resources). A document
/// box (sent as the system message, so it stays the cached prefix of every question), a
/// conversation streamed from `/v1/chat/completions`, and each reply's prompt, cached and
/// generated token counts.
enum ChatPage {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>clex serve</title>
    <style>
      body { font: 15px/1.45 system-ui, sans-serif; max-width: 860px; margin: 1.5em auto; padding: 0 1em; color: #222; }
      textarea, input { width: 100%; box-sizing: border-box; font: inherit; padding: .4em; }
      #document { height: 9em; }
      #log { margin: 1em 0; }
      .turn { margin: .6em 0; white-space: pre-wrap; }
      .user { color: #0a4c8a; }
      .assistant { border-left: 3px solid #ccc; padding-left: .6em; }
      .stats { color: #666; font-size: 13px; }
      form { display: flex; gap: .5em; }
      button { font: inherit; padding: .4em 1em; }
    </style>
    </head>
    <body>
    <h1>clex serve</h1>
    <label for="document">Document (kept in the KV cache between questions)</label>
    <textarea id="document" placeholder="Paste a long text here, then ask about it."></textarea>
    <div id="log"></div>
    <form id="ask">
      <input id="question" autocomplete="off" placeholder="Ask a question">
      <button id="send" type="submit">Send</button>
      <button id="reset" type="button">Reset</button>
    </form>
    <p class="stats">Model: <span id="model">…</span> · API key: <input id="key" type="password" style="width: 12em"></p>
    <p class="stats" id="stats"></p>
    <script>
    const $ = (id) => document.getElementById(id);
    let history = [];
    function headers() {
      const h = { "Content-Type": "application/json" };
      if ($("key").value) h["Authorization"] = "Bearer " + $("key").value;
      return h;
    }
    fetch("/v1/models", { headers: headers() }).then(r => r.json()).then(j => { $("model").textContent = j.data[0].id; })
      .catch(() => { $("model").textContent = "(needs the API key)"; });
    function turn(role, text) {
      const div = document.createElement("div");
      div.className = "turn " + role;
      div.textContent = text;
      $("log").appendChild(div);
      return div;
    }
    $("reset").onclick = () => { history = []; $("log").textContent = ""; $("stats").textContent = ""; };
    $("ask").onsubmit = async (event) => {
      event.preventDefault();
      const question = $("question").value.trim();
      if (!question) return;
      $("question").value = "";
      $("send").disabled = true;
      turn("user", question);
      const reply = turn("assistant", "");
      const messages = [];
      const doc = $("document").value.trim();
      if (doc) messages.push({ role: "system", content: "Answer questions about this document.\n\n" + doc });
      messages.push(...history, { role: "user", content: question });
      const started = performance.now();
      let first = null, text = "";
      try {
        const response = await fetch("/v1/chat/completions", { method: "POST", headers: headers(),
          body: JSON.stringify({ messages, max_tokens: 512, stream: true, stream_options: { include_usage: true } }) });
        if (!response.ok) throw new Error((await response.json()).error.message);
        const reader = response.body.getReader(), decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const line = buffer.slice(0, end).trim();
            buffer = buffer.slice(end + 2);
            if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
            const chunk = JSON.parse(line.slice(6));
            if (chunk.error) throw new Error(chunk.error.message);
            const delta = chunk.choices.length ? chunk.choices[0].delta.content : null;
            if (delta) {
              if (first === null) first = performance.now();
              text += delta;
              reply.textContent = text;
            }
            if (chunk.usage) {
              const u = chunk.usage;
              $("stats").textContent = `prompt ${u.prompt_tokens} tokens (cached ${u.prompt_tokens_details.cached_tokens}), `
                + `reply ${u.completion_tokens} tokens; first token after ${((first ?? performance.now()) - started).toFixed(0)} ms`;
            }
          }
        }
        history.push({ role: "user", content: question }, { role: "assistant", content: text });
      } catch (error) {
        reply.textContent = "error: " + error.message;
      }
      $("send").disabled = false;
    };
    </script>
    </body>
    </html>
    """#
}
