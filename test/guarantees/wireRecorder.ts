/**
 * A TCP proxy in front of PostgreSQL that reads the frontend side of the wire protocol, to prove
 * what atlas sends: the SQL text of every Query ('Q') and Parse ('P') message is kept; the values
 * of Bind ('B') and the COPY data ('d') are not kept but searched for marker strings, so a test
 * can show that hostile text reached the server only as data, never as SQL. Works with any server
 * version and needs no server configuration (no log_statement, no pg_stat_statements).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface WireRecorder {
  /** Connection string to give atlas: the target's, through the proxy. */
  url: string;
  /** Connections opened through the proxy. */
  connections: number;
  /** SQL text of every statement sent, in order. */
  statements: string[];
  /** Markers seen in COPY data or bound parameter values. */
  seenInData: Set<string>;
  close(): Promise<void>;
}

/** Parses the client -> server byte stream, one message at a time, without buffering large ones. */
class FrontendParser {
  private started = false;
  private header = Buffer.alloc(0);
  private type = 0;
  private remaining = 0;
  private body: Buffer[] = [];
  /** Tail of the previous piece of a skipped message, so markers split across chunks are found. */
  private carry = '';

  constructor(
    private readonly markers: readonly string[],
    private readonly onStatement: (sql: string) => void,
    private readonly onMarker: (marker: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining === 0) {
        // The startup message (and SSLRequest/CancelRequest) has no type byte: int32 length first.
        const need = this.started ? 5 : 4;
        const take = Math.min(need - this.header.length, chunk.length - i);
        this.header = Buffer.concat([this.header, chunk.subarray(i, i + take)]);
        i += take;
        if (this.header.length < need) return;
        if (this.started) {
          this.type = this.header[0]!;
          this.remaining = this.header.readInt32BE(1) - 4;
        } else {
          this.type = 0;
          this.remaining = this.header.readInt32BE(0) - 4;
        }
        this.header = Buffer.alloc(0);
        this.body = [];
        this.carry = '';
        if (this.remaining === 0) this.finish();
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - i);
      const piece = chunk.subarray(i, i + take);
      i += take;
      this.remaining -= take;
      if (this.type === 0x51 || this.type === 0x50 || this.type === 0) this.body.push(piece);
      else if (this.type === 0x64 || this.type === 0x42) this.scan(piece);
      if (this.remaining === 0) this.finish();
    }
  }

  private scan(piece: Buffer): void {
    const text = this.carry + piece.toString('latin1');
    for (const m of this.markers) if (text.includes(m)) this.onMarker(m);
    this.carry = text.slice(-64);
  }

  private finish(): void {
    const body = Buffer.concat(this.body);
    this.body = [];
    if (this.type === 0) {
      // Startup: 196608 is protocol 3.0; SSLRequest (80877103) and GSSENCRequest get a one-byte answer first.
      const code = body.length >= 4 ? body.readInt32BE(0) : 0;
      if (code === 196608) this.started = true;
      return;
    }
    if (this.type === 0x51) this.onStatement(body.toString('utf8').replace(/\0$/, ''));
    else if (this.type === 0x50) {
      const nameEnd = body.indexOf(0);
      const sqlEnd = body.indexOf(0, nameEnd + 1);
      this.onStatement(body.subarray(nameEnd + 1, sqlEnd).toString('utf8'));
    }
  }
}

/** Starts a recording proxy to the server of `targetUrl`, watching for `markers` in the data. */
export async function startWireRecorder(targetUrl: string, markers: readonly string[]): Promise<WireRecorder> {
  const target = new URL(targetUrl);
  const statements: string[] = [];
  const seenInData = new Set<string>();
  const sockets = new Set<Socket>();
  const latin1Markers = markers.map((m) => Buffer.from(m, 'utf8').toString('latin1'));
  const recorder: WireRecorder = {
    url: '',
    connections: 0,
    statements,
    seenInData,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((client) => {
    recorder.connections++;
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    const parser = new FrontendParser(latin1Markers, (sql) => statements.push(sql), (m) => seenInData.add(Buffer.from(m, 'latin1').toString('utf8')));
    client.on('data', (d: Buffer) => {
      parser.push(d);
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => client.write(d));
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxied = new URL(targetUrl);
  proxied.hostname = '127.0.0.1';
  proxied.port = String((server.address() as { port: number }).port);
  recorder.url = proxied.toString();
  return recorder;
}
