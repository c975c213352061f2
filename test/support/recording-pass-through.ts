import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordingPassThrough {
  url: string;
  /** The value of the noted header on each forwarded request that carried it, in order. */
  seen: string[];
  server: Server;
  /** Where requests go (set once the server behind is up). */
  target: string;
}

/** A loopback HTTP pass-through (in front of the local workspace) that notes `header` of each request it forwards. */
export async function startRecordingPassThrough(header: string): Promise<RecordingPassThrough> {
  const seen: string[] = [];
  const state = { target: "" };
  const server = createServer((req, res) => {
    void (async () => {
      const value = req.headers[header];
      if (typeof value === "string") seen.push(value);
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      // fetch sets the body's own length (undici refuses a second content-length).
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(
          ([k, v]) => typeof v === "string" && !["host", "connection", "content-length"].includes(k),
        ),
      ) as Record<string, string>;
      const upstream = await fetch(`${state.target}${req.url}`, {
        method: req.method,
        headers,
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      });
      const body = Buffer.from(await upstream.arrayBuffer());
      res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" });
      res.end(body);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, { url, seen, server });
}
