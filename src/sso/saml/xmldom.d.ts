// @xmldom/xmldom's own index.d.ts pulls in TypeScript's DOM library (`/// <reference lib="dom" />`),
// whose BufferSource and SubtleCrypto clash with the Workers types. The parser is imported through
// its lib/ path instead and typed here; xml.ts gives the nodes their (minimal) shape.
declare module "@xmldom/xmldom/lib/dom-parser.js" {
  export class DOMParser {
    constructor(options?: { errorHandler?: { warning?: (message: string) => void; error?: (message: string) => void; fatalError?: (message: string) => void } });
    parseFromString(source: string, mimeType: string): unknown;
  }
}
