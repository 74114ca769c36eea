//! Compressed text files, read transparently: a file named `*.gz` is gzip (several
//! concatenated members, as `cat a.gz b.gz` makes, are one stream), `*.zst` or `*.zstd` is
//! Zstandard. A compressed file cannot be entered in the middle, so it is one partition, read
//! whole by one worker; offsets in checkpoints count uncompressed bytes.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// How a file's bytes are stored.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The compression a file's name says.
    pub fn of(path: &Path) -> Compression {
        match path.extension().and_then(|e| e.to_str()) {
            Some("gz" | "gzip") => Compression::Gzip,
            Some("zst" | "zstd") => Compression::Zstd,
            _ => Compression::None,
        }
    }

    /// Whether the file can be entered at a byte offset (split over workers).
    pub fn splittable(self) -> bool {
        self == Compression::None
    }

    /// The file's uncompressed bytes from its start.
    pub fn reader(self, file: File) -> std::io::Result<Box<dyn Read + Send>> {
        Ok(match self {
            Compression::None => Box::new(file),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file))),
            Compression::Zstd => Box::new(zstd::Decoder::new(file)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gzip_members_and_zstd_frames_read_back_whole() {
        let dir = std::env::temp_dir().join(format!("darwin-compress-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let gz = dir.join("a.csv.gz");
        let mut bytes = Vec::new();
        for part in ["1,a\n", "2,b\n"] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part.as_bytes()).unwrap();
            bytes.extend(e.finish().unwrap());
        }
        std::fs::write(&gz, bytes).unwrap();
        let zst = dir.join("a.json.zst");
        std::fs::write(&zst, zstd::encode_all(&b"{\"k\": 1}\n"[..], 3).unwrap()).unwrap();
        let read = |p: &Path| {
            let mut s = String::new();
            Compression::of(p).reader(File::open(p).unwrap()).unwrap().read_to_string(&mut s).unwrap();
            s
        };
        assert_eq!(read(&gz), "1,a\n2,b\n");
        assert_eq!(read(&zst), "{\"k\": 1}\n");
        assert_eq!(Compression::of(Path::new("x.csv")), Compression::None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
