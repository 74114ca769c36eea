//! CSV records decoded straight into column builders: fields are found as byte ranges of the
//! record (no string per field, no row of values), strings are copied once into their column,
//! and only a field holding an escaped quote (`""`) is unescaped, into a reused buffer. The
//! quoting is `format::split_csv`'s (RFC 4180; a quote opens a quoted field only at its start),
//! and each field is read by `format::parse_field`, so values are exactly what the row decoder
//! gave (a property test checks it).

use crate::format::{parse_field, split_csv};
use darwin_columnar::column::ColumnBuilder;
use darwin_common::{DataType, Schema};
use darwin_plan::FieldPositions;

/// A field of the record being decoded: its bytes, whether it was quoted, and whether it holds
/// an escaped quote.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    quoted: bool,
    escaped: bool,
}

/// Decodes CSV records of one schema into columns, reusing its buffers across records.
#[derive(Default)]
pub struct CsvDecoder {
    spans: Vec<Span>,
    unescaped: String,
    /// Fields of an irregular record (text after a closing quote), split the slow way.
    fields: Vec<(String, bool)>,
}

/// What splitting a record found.
enum Split {
    Fields,
    Unterminated,
    /// Text between a closing quote and the next comma: read as `split_csv` reads it.
    Irregular,
}

/// Why a record was not decoded: the column (`*` for the whole record) and the message.
pub type RecordError = (String, String);

impl CsvDecoder {
    /// Appends the record `line` (without its line break) to `columns`, one per schema field;
    /// on an error nothing of the record is left in them.
    /// With `positions`, the record has `width` fields and column `c` is read from field
    /// `columns[c]`; the other fields are skipped unread.
    pub fn decode(
        &mut self,
        line: &str,
        schema: &Schema,
        positions: Option<&FieldPositions>,
        columns: &mut [ColumnBuilder],
    ) -> Result<(), RecordError> {
        match self.split(line.as_bytes()) {
            Split::Fields => {}
            Split::Unterminated => return Err(("*".into(), "unterminated quoted field".into())),
            Split::Irregular => {
                let values = irregular_values(line, schema, positions, &mut self.fields)?;
                columns.iter_mut().zip(&values).for_each(|(c, v)| c.push(v));
                return Ok(());
            }
        }
        check_width(self.spans.len(), schema, positions)?;
        let rows = columns.first().map_or(0, ColumnBuilder::len);
        for c in 0..schema.len() {
            let i = positions.map_or(c, |p| p.columns[c]);
            if let Err(message) = self.push(line, i, schema.fields[c].data_type, &mut columns[c]) {
                columns.iter_mut().for_each(|c| c.truncate(rows));
                return Err((schema.fields[c].name.clone(), message));
            }
        }
        Ok(())
    }

    /// Field `i` of `line` appended to `column` as a value of type `ty`.
    fn push(&mut self, line: &str, i: usize, ty: DataType, column: &mut ColumnBuilder) -> Result<(), String> {
        let span = self.spans[i];
        let text = if span.escaped {
            self.unescaped.clear();
            self.unescaped.push_str(&line[span.start..span.end]);
            self.unescaped = self.unescaped.replace("\"\"", "\"");
            self.unescaped.as_str()
        } else {
            &line[span.start..span.end]
        };
        if ty == DataType::Varchar && (span.quoted || !text.is_empty()) {
            column.push_str(text);
            return Ok(());
        }
        column.push(&parse_field(text, span.quoted, ty)?);
        Ok(())
    }

    /// Finds the fields of `line`; false for an unterminated quote. A quoted field's span is
    /// its content between the quotes (with `""` still doubled); bytes after the closing quote
    /// belong to the field, as `split_csv` keeps them.
    fn split(&mut self, line: &[u8]) -> Split {
        self.spans.clear();
        if memchr::memchr(b'"', line).is_none() {
            // No quote: every comma separates, found in one vectorised pass.
            let mut start = 0;
            for end in memchr::memchr_iter(b',', line).chain([line.len()]) {
                self.spans.push(Span { start, end, quoted: false, escaped: false });
                start = end + 1;
            }
            return Split::Fields;
        }
        let mut i = 0;
        loop {
            let (span, next) = if line.get(i) == Some(&b'"') {
                match quoted_field(line, i) {
                    Ok(field) => field,
                    Err(irregular_or_unterminated) => return irregular_or_unterminated,
                }
            } else {
                plain_field(line, i)
            };
            self.spans.push(span);
            match next {
                Some(n) => i = n,
                None => return Split::Fields,
            }
        }
    }
}

/// The values of a record `CsvDecoder::split` cannot take (text after a closing quote), read
/// through `split_csv` into `fields` as the row decoder read them.
fn irregular_values(
    line: &str,
    schema: &Schema,
    positions: Option<&FieldPositions>,
    fields: &mut Vec<(String, bool)>,
) -> Result<Vec<darwin_common::Value>, RecordError> {
    if split_csv(line, fields).is_none() {
        return Err(("*".into(), "unterminated quoted field".into()));
    }
    check_width(fields.len(), schema, positions)?;
    (0..schema.len())
        .map(|c| {
            let f = &schema.fields[c];
            let (text, quoted) = &fields[positions.map_or(c, |p| p.columns[c])];
            parse_field(text, *quoted, f.data_type).map_err(|m| (f.name.clone(), m))
        })
        .collect()
}

/// A record of `found` fields has the number the table declares.
fn check_width(found: usize, schema: &Schema, positions: Option<&FieldPositions>) -> Result<(), RecordError> {
    let width = positions.map_or(schema.len(), |p| p.width);
    if found != width {
        return Err(("*".into(), format!("expected {width} fields, found {found}")));
    }
    Ok(())
}

/// An unquoted field from `start`: its span and where the next field starts (None at the end).
fn plain_field(line: &[u8], start: usize) -> (Span, Option<usize>) {
    let end = memchr::memchr(b',', &line[start..]).map_or(line.len(), |p| start + p);
    (Span { start, end, quoted: false, escaped: false }, (end < line.len()).then_some(end + 1))
}

/// A field opening with a quote at `start`: its content's span and where the next field starts.
fn quoted_field(line: &[u8], start: usize) -> std::result::Result<(Span, Option<usize>), Split> {
    let mut i = start + 1;
    let mut escaped = false;
    loop {
        let Some(p) = memchr::memchr(b'"', &line[i..]) else { return Err(Split::Unterminated) };
        let q = i + p;
        if line.get(q + 1) == Some(&b'"') {
            escaped = true;
            i = q + 2;
            continue;
        }
        let span = Span { start: start + 1, end: q, quoted: true, escaped };
        return match line.get(q + 1) {
            None => Ok((span, None)),
            Some(b',') => Ok((span, Some(q + 2))),
            Some(_) => Err(Split::Irregular),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use darwin_columnar::column::Batch;
    use darwin_common::{Field, Value};

    /// The row decoder `CsvDecoder` replaces: `split_csv` then `parse_field` per field read
    /// (`keep`: the fields read, in order; all by default).
    fn by_rows(line: &str, schema: &Schema, keep: Option<&[usize]>) -> Result<Vec<Value>, RecordError> {
        let mut fields = Vec::new();
        if split_csv(line, &mut fields).is_none() {
            return Err(("*".into(), "unterminated quoted field".into()));
        }
        if fields.len() != schema.len() {
            return Err(("*".into(), format!("expected {} fields, found {}", schema.len(), fields.len())));
        }
        let all: Vec<usize> = (0..schema.len()).collect();
        keep.unwrap_or(&all)
            .iter()
            .map(|&i| {
                let (f, (text, quoted)) = (&schema.fields[i], &fields[i]);
                parse_field(text, *quoted, f.data_type).map_err(|m| (f.name.clone(), m))
            })
            .collect()
    }

    /// Random records of awkward fields (quotes, escaped quotes, separators inside quotes, text
    /// after a closing quote, empty and unparsable values, wrong field counts) decode to the
    /// row decoder's values or its error, and a failed record leaves nothing in the columns.
    #[test]
    fn columns_hold_what_the_row_decoder_reads() {
        let types =
            [DataType::BigInt, DataType::Varchar, DataType::Double, DataType::Decimal { precision: 8, scale: 2 }];
        let schema = Schema::new(types.iter().enumerate().map(|(i, t)| Field::new(format!("c{i}"), *t)).collect());
        let pieces = [
            "1",
            "-7",
            "x",
            "",
            "\"\"",
            "\"a,b\"",
            "\"q\"\"q\"",
            "\"open",
            "\"ab\"cd",
            "2.5",
            " 3 ",
            "12.345",
            "é",
            ",",
        ];
        let mut rnd = darwin_common::xorshift(0xC5F0_0001);
        let mut decoder = CsvDecoder::default();
        let mut columns: Vec<ColumnBuilder> = types.iter().map(|t| ColumnBuilder::new(*t, 16)).collect();
        let mut want_rows = Vec::new();
        // The same records read narrowed to fields 3 and 1 (in that order), skipping the others.
        let keep = [3, 1];
        let positions = FieldPositions { width: 4, columns: keep.to_vec() };
        let narrow_schema = Schema::new(keep.iter().map(|i| schema.fields[*i].clone()).collect());
        let mut narrow_columns: Vec<ColumnBuilder> = keep.iter().map(|i| ColumnBuilder::new(types[*i], 16)).collect();
        let mut narrow_rows = Vec::new();
        for _ in 0..20_000 {
            let n = 3 + (rnd() % 3) as usize;
            let line: Vec<&str> = (0..n).map(|_| pieces[(rnd() % pieces.len() as u64) as usize]).collect();
            let line = line.join(",");
            let want_narrow = by_rows(&line, &schema, Some(&keep));
            match (&want_narrow, decoder.decode(&line, &narrow_schema, Some(&positions), &mut narrow_columns)) {
                (Ok(values), Ok(())) => narrow_rows.push(values.clone()),
                (Err(w), Err(g)) => assert_eq!(&g, w, "{line}"),
                (w, g) => panic!("{line}: narrowed rows {w:?}, columns {g:?}"),
            }
            let want = by_rows(&line, &schema, None);
            let got = decoder.decode(&line, &schema, None, &mut columns);
            match (&want, got) {
                (Ok(values), Ok(())) => want_rows.push(values.clone()),
                (Err(w), Err(g)) => assert_eq!(&g, w, "{line}"),
                (w, g) => panic!("{line}: rows {w:?}, columns {g:?}"),
            }
            assert!(columns.iter().all(|c| c.len() == want_rows.len()), "{line}");
        }
        assert!(want_rows.len() > 500, "too few records decoded: {}", want_rows.len());
        let n = want_rows.len();
        let batch = Batch::new(columns.into_iter().map(ColumnBuilder::finish).collect(), n);
        let got: Vec<Vec<Value>> = (0..n).map(|i| batch.row(i, &types)).collect();
        assert_eq!(got, want_rows);
        let n = narrow_rows.len();
        assert!(n > want_rows.len(), "skipped fields fail no record");
        let batch = Batch::new(narrow_columns.into_iter().map(ColumnBuilder::finish).collect(), n);
        let narrow_types = [types[3], types[1]];
        let got: Vec<Vec<Value>> = (0..n).map(|i| batch.row(i, &narrow_types)).collect();
        assert_eq!(got, narrow_rows);
    }
}
