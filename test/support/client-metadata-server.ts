import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One answer of the document server: a JSON document (200), or any status, headers and raw body. */
export interface DocumentAnswer {
  status?: number;
  headers?: Record<string, string>;
  body: unknown;
}

/**
 * A loopback HTTP server standing in for the web hosts of MCP clients' Client ID Metadata Documents: it answers
 * GET {path} with what the test put there, and counts requests per path.
 */
export class ClientMetadataServer {
  private readonly answers = new Map<string, DocumentAnswer>();
  private readonly hits = new Map<string, number>();
  private server?: Server;
  origin = "";

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0]!;
      this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
      const answer = this.answers.get(path);
      if (answer === undefined) return res.writeHead(404).end();
      const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status ?? 200, { "content-type": "application/json", ...answer.headers }).end(text);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Puts an answer at a path (the path of the https client_id it stands for). */
  serve(path: string, answer: DocumentAnswer): void {
    this.answers.set(path, answer);
  }

  requestsTo(path: string): number {
    return this.hits.get(path) ?? 0;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
