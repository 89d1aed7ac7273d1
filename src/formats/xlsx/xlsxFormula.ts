/**
 * The formula of a cell that shares another's (`<f t="shared" si="1"/>`): the text the sheet
 * holds once, on the first cell, with its relative references moved by the cell's offset from it
 * (`B3/C3` in D3 is `B4/C4` in D4), as a spreadsheet shows it.
 */

/**
 * Outside quotes: a cell reference (`$B$3`, `B3`), a column range (`A:C`) or a row range (`1:3`),
 * not inside a name (`LOG10(`, `Sheet1`) nor a function's; quoted text ("..." strings, '...' sheet
 * names) is matched as a whole so that it is left alone.
 */
const TOKENS = /("(?:[^"]|"")*"|'(?:[^']|'')*')|(?<![A-Za-z0-9_.$])(?:(\$?)([A-Z]{1,3})(\$?)(\d{1,7})|(\$?)([A-Z]{1,3}):(\$?)([A-Z]{1,3})|(\$?)(\d{1,7}):(\$?)(\d{1,7}))(?![A-Za-z0-9_.(])/g;
/** Excel's last column (XFD) and row: a reference moved past them, or before the first, is `#REF!`. */
const LAST_COL = 16_384;
const LAST_ROW = 1_048_576;

function columnNumber(letters: string): number {
  let n = 0;
  for (const c of letters) n = n * 26 + (c.charCodeAt(0) - 64);
  return n;
}

function columnName(n: number): string {
  let s = '';
  for (; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

/** `formula` (without its `=`) as it reads `rows` below and `cols` right of the cell that holds it. */
export function slideFormula(formula: string, rows: number, cols: number): string {
  if (rows === 0 && cols === 0) return formula;
  let broken = false;
  const col = (anchor: string, letters: string): string => {
    const n = anchor === '$' ? columnNumber(letters) : columnNumber(letters) + cols;
    if (n < 1 || n > LAST_COL) broken = true;
    return anchor + columnName(n);
  };
  const row = (anchor: string, digits: string): string => {
    const n = anchor === '$' ? Number(digits) : Number(digits) + rows;
    if (n < 1 || n > LAST_ROW) broken = true;
    return anchor + String(n);
  };
  return formula.replace(TOKENS, (whole: string, quoted?: string, ca?: string, c?: string, ra?: string, r?: string, c1a?: string, c1?: string, c2a?: string, c2?: string, r1a?: string, r1?: string, r2a?: string, r2?: string) => {
    if (quoted !== undefined) return whole;
    broken = false;
    let out: string;
    if (c !== undefined) out = col(ca!, c) + row(ra!, r!);
    else if (c1 !== undefined) out = `${col(c1a!, c1)}:${col(c2a!, c2!)}`;
    else out = `${row(r1a!, r1!)}:${row(r2a!, r2!)}`;
    return broken ? '#REF!' : out;
  });
}
