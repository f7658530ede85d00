/**
 * Parses JSON text and, when that fails, says where and why in one line. JSON.parse's own messages
 * vary between engines, sometimes quote the whole input (a 10 MB model file) and often give no
 * position; so on failure we rescan with a small syntax checker that finds the first error.
 * Browser-safe. This is not a JSON parser: the value always comes from JSON.parse.
 */

export interface JsonSyntaxProblem {
  /** UTF-16 offset of the first bad character (text length when the text ends too early). */
  position: number;
  line: number;
  column: number;
  /** e.g. "expected ',' or ']' after an array element, got 'x'". */
  problem: string;
  /** The text ended inside a value: the file is probably cut short. */
  truncated: boolean;
}

export type JsonParseResult = { ok: true; value: unknown } | { ok: false; error: JsonSyntaxProblem };

export function parseJson(text: string): JsonParseResult {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    const found = locateJsonError(text);
    if (found !== undefined) return { ok: false, error: found };
    // The checker accepted what JSON.parse refused: fall back to the engine's message, shortened.
    const message = e instanceof Error ? e.message : String(e);
    return { ok: false, error: { ...lineAndColumn(text, 0), position: 0, problem: message.slice(0, 120), truncated: false } };
  }
}

/** One-line description, e.g. "line 3, column 14 (position 57): expected ':' after a property name". */
export function describeJsonProblem(p: JsonSyntaxProblem): string {
  const where = `line ${p.line}, column ${p.column} (position ${p.position})`;
  return p.truncated ? `the text ends at ${where} ${p.problem}: the file looks truncated` : `${where}: ${p.problem}`;
}

type Expect = "value" | "value-or-close" | "key" | "key-or-close" | "colon" | "comma-or-close" | "end";

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** Returns the first syntax error in `text`, or undefined if it is valid JSON. Iterative, O(length). */
export function locateJsonError(text: string): JsonSyntaxProblem | undefined {
  const len = text.length;
  const stack: string[] = []; // "[" or "{"
  let expect = "value" as Expect; // widened: afterValue() changes it behind the narrowing
  let i = 0;
  const fail = (at: number, problem: string): JsonSyntaxProblem => ({ position: at, ...lineAndColumn(text, at), problem, truncated: false });
  const truncated = (): JsonSyntaxProblem => {
    const inside = stack.length === 0 ? "before the value is complete" : `inside an unclosed ${stack[stack.length - 1] === "[" ? "array" : "object"}`;
    return { position: len, ...lineAndColumn(text, len), problem: inside, truncated: true };
  };
  const afterValue = (): void => {
    expect = stack.length > 0 ? "comma-or-close" : "end";
  };
  for (;;) {
    while (i < len && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
    if (i >= len) return expect === "end" ? undefined : truncated();
    const c = text[i]!;
    switch (expect) {
      case "value":
      case "value-or-close": {
        if (c === "]" && expect === "value-or-close") {
          stack.pop();
          i++;
          afterValue();
          break;
        }
        if (c === "{") {
          stack.push("{");
          i++;
          expect = "key-or-close";
        } else if (c === "[") {
          stack.push("[");
          i++;
          expect = "value-or-close";
        } else if (c === '"') {
          const end = scanString(text, i);
          if (typeof end !== "number") return end.truncated ? truncated() : fail(end.at, end.problem);
          i = end;
          afterValue();
        } else if (c === "-" || (c >= "0" && c <= "9")) {
          NUMBER.lastIndex = i;
          if (!NUMBER.test(text)) return i + 1 >= len ? truncated() : fail(i, `invalid number starting ${quote(text.slice(i, i + 12))}`);
          const end = NUMBER.lastIndex;
          // "1." or "1e" cut off at the end of the text is truncation, not bad syntax.
          if (end < len && (text[end] === "." || text[end] === "e" || text[end] === "E") && end + 1 >= len) return truncated();
          i = end;
          afterValue();
        } else {
          const word = ["true", "false", "null"].find((w) => w[0] === c);
          if (word !== undefined && text.startsWith(word, i)) {
            i += word.length;
            afterValue();
          } else if (word !== undefined && word.startsWith(text.slice(i))) {
            return truncated();
          } else {
            return fail(i, `expected a value, got ${quote(c)}`);
          }
        }
        break;
      }
      case "key":
      case "key-or-close":
        if (c === "}" && expect === "key-or-close") {
          stack.pop();
          i++;
          afterValue();
        } else if (c === '"') {
          const end = scanString(text, i);
          if (typeof end !== "number") return end.truncated ? truncated() : fail(end.at, end.problem);
          i = end;
          expect = "colon";
        } else {
          return fail(i, `expected a property name in double quotes, got ${quote(c)}`);
        }
        break;
      case "colon":
        if (c !== ":") return fail(i, `expected ':' after a property name, got ${quote(c)}`);
        i++;
        expect = "value";
        break;
      case "comma-or-close": {
        const top = stack[stack.length - 1]!;
        const close = top === "[" ? "]" : "}";
        if (c === ",") {
          i++;
          expect = top === "[" ? "value" : "key";
        } else if (c === close) {
          stack.pop();
          i++;
          afterValue();
        } else {
          return fail(i, `expected ',' or '${close}' after ${top === "[" ? "an array element" : "a property value"}, got ${quote(c)}`);
        }
        break;
      }
      case "end":
        return fail(i, `unexpected ${quote(c)} after the end of the JSON value`);
    }
  }
}

/** Scans a string literal starting at the opening quote; returns the index after the closing quote. */
function scanString(text: string, start: number): number | { at: number; problem: string; truncated: boolean } {
  const len = text.length;
  let i = start + 1;
  while (i < len) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) return { at: i, problem: "control character inside a string (JSON strings cannot hold raw newlines or tabs)", truncated: false };
    if (c === 0x5c) {
      const e = text[i + 1];
      if (e === undefined) break;
      if (e === "u") {
        const hex = text.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
          if (i + 6 > len && /^[0-9a-fA-F]*$/.test(hex)) break;
          return { at: i, problem: `invalid escape ${quote(text.slice(i, i + 6))} in a string`, truncated: false };
        }
        i += 6;
        continue;
      }
      if (!'"\\/bfnrt'.includes(e)) return { at: i, problem: `invalid escape ${quote("\\" + e)} in a string`, truncated: false };
      i += 2;
      continue;
    }
    i++;
  }
  return { at: len, problem: "", truncated: true };
}

function lineAndColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < position; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: position - lineStart + 1 };
}

function quote(s: string): string {
  return JSON.stringify(s);
}
