//! Reading stdin as newline-delimited messages (every revision's `basic/transports.mdx`,
//! "stdio": messages are delimited by newlines and MUST NOT contain embedded newlines), with a
//! bound on the length of one line so that a client cannot make the server buffer without end.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// One line read from the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// The bytes of a line, without its terminator (`\n` or `\r\n`).
    Text(Vec<u8>),
    /// A line longer than the limit; its bytes were skipped.
    TooLong,
}

/// Newline-delimited lines of at most `limit` bytes.
pub struct Lines<R> {
    reader: R,
    limit: usize,
}

impl<R: AsyncBufRead + Unpin> Lines<R> {
    /// Lines of `reader`, each at most `limit` bytes.
    pub fn new(reader: R, limit: usize) -> Self {
        Self { reader, limit }
    }

    /// The next line; `None` at end of input. A last line without a terminator counts.
    pub async fn next(&mut self) -> std::io::Result<Option<Line>> {
        let mut line = Vec::new();
        let mut too_long = false;
        loop {
            let chunk = self.reader.fill_buf().await?;
            if chunk.is_empty() {
                if line.is_empty() && !too_long {
                    return Ok(None);
                }
                break;
            }
            let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            if !too_long && line.len() + take <= self.limit {
                line.extend_from_slice(&chunk[..take]);
            } else {
                too_long = true;
                line.clear();
            }
            let consumed = if done { take + 1 } else { take };
            self.reader.consume(consumed);
            if done {
                break;
            }
        }
        if too_long {
            return Ok(Some(Line::TooLong));
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(Some(Line::Text(line)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn splits_bounds_and_ends() {
        let input: &[u8] = b"{\"a\":1}\r\n\n0123456789abc\nlast";
        let mut lines = Lines::new(tokio::io::BufReader::with_capacity(4, input), 10);
        assert_eq!(
            lines.next().await.unwrap(),
            Some(Line::Text(b"{\"a\":1}".to_vec()))
        );
        assert_eq!(lines.next().await.unwrap(), Some(Line::Text(Vec::new())));
        assert_eq!(lines.next().await.unwrap(), Some(Line::TooLong));
        assert_eq!(
            lines.next().await.unwrap(),
            Some(Line::Text(b"last".to_vec()))
        );
        assert_eq!(lines.next().await.unwrap(), None);
    }
}
