// Reads a JSON array of LaTeX strings on stdin; prints a JSON array: null (renders) or the error.
const katex = require("katex");
let data = "";
process.stdin.on("data", (c) => (data += c));
process.stdin.on("end", () => {
  const out = JSON.parse(data).map((tex) => {
    try {
      katex.renderToString(tex, { displayMode: true, throwOnError: true, strict: "error" });
      return null;
    } catch (e) {
      return String(e.message);
    }
  });
  process.stdout.write(JSON.stringify(out));
});
