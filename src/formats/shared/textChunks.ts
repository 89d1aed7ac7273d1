import { StrictDecoder } from './decode.js';

/**
 * A byte stream decoded to text chunk by chunk, strictly (invalid bytes are an error). The
 * encoding is chosen from the first chunk by `pick`; `encoding` tells which, once reading began.
 */
export class TextChunks implements AsyncIterable<string> {
  encoding: string | null = null;

  constructor(
    private readonly bytes: AsyncIterable<Buffer>,
    private readonly pick: (firstChunk: Buffer) => string,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    let decoder: StrictDecoder | null = null;
    for await (const chunk of this.bytes) {
      if (decoder === null) {
        decoder = new StrictDecoder(this.pick(chunk));
        this.encoding = decoder.encoding;
      }
      const text = decoder.decode(chunk);
      if (text !== '') yield text;
    }
    if (decoder !== null) {
      const rest = decoder.end();
      if (rest !== '') yield rest;
    }
  }
}
