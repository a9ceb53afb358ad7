import http from "node:http";
import { Webhook } from "standardwebhooks";
const wh = new Webhook(process.env.WEBHOOK_SECRET); // the whsec_… shown when the endpoint was created
http.createServer((req, res) => {
  let body = ""; req.on("data", (c) => (body += c)); req.on("end", () => {
    try { const event = wh.verify(body, req.headers); console.log(req.headers["webhook-id"], event.type); res.writeHead(204).end(); }
    catch { res.writeHead(400).end(); } // not from Doorman, altered, or older than 5 minutes
  });
}).listen(process.env.PORT ?? 3000, "127.0.0.1");
