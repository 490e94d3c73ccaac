// Runs the IAB reference GPP library for the Python tests.
// stdin: a JSON array of requests; stdout: a JSON array of answers, in the same order.
//   {"decode": "DBABLA~..."}                      -> {"header": {...}, "sections": {...}}
//   {"encode": {"usnat": {Field: value, ...}}}    -> {"string": "DBABLA~..."}
// An exception becomes {"error": "message"} so one bad string does not hide the others.
"use strict";
const { GppModel } = require("@iabgpp/cmpapi");

function answer(request) {
  try {
    if ("decode" in request) {
      const model = new GppModel(request.decode);
      return { header: model.getHeader(), sections: model.toObject() };
    }
    const model = new GppModel();
    for (const [section, fields] of Object.entries(request.encode)) {
      for (const [name, value] of Object.entries(fields)) {
        model.setFieldValue(section, name, value);
      }
    }
    return { string: model.encode() };
  } catch (error) {
    return { error: String(error && error.message ? error.message : error) };
  }
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  process.stdout.write(JSON.stringify(JSON.parse(input).map(answer)));
});
