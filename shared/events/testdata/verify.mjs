// Verifies one delivery with the standardwebhooks library: reads
// {"secret","headers","body"} from stdin and prints "ok" or the library's error.
import { Webhook } from "standardwebhooks";
let input = "";
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", () => {
  const { secret, headers, body } = JSON.parse(input);
  try {
    new Webhook(secret).verify(body, headers);
    console.log("ok");
  } catch (e) {
    console.log("refused: " + e.message);
  }
});
