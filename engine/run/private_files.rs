//! private_files: the state directory holds run evidence (journals with every output, plan
//! texts with targets, reports, locks), so it is created owner-only: directories 0700, files
//! 0600, whatever the umask. It owns only how those are created; what goes in them belongs to
//! the journal and the report. On non-Unix systems it falls back to the platform defaults.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Owner-only directory mode.
#[cfg(unix)]
const DIR_MODE: u32 = 0o700;
/// Owner-only file mode.
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;

/// `create_dir_all` with every directory it creates owner-only (existing ones are left as
/// they are: a user who chose a shared state directory keeps it).
pub fn create_dir_all(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(path)
}

/// Open options whose newly created file is owner-only.
pub fn open_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options
}

/// `fs::write` whose newly created file is owner-only; an existing file is truncated and
/// narrowed to owner-only too (a report rewritten by `recover`).
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) -> std::io::Result<()> {
    let mut file: File = open_options()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
    }
    file.write_all(bytes.as_ref())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn directories_and_files_are_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        create_dir_all(&dir).unwrap();
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("f");
        write(&file, "x").unwrap();
        assert_eq!(mode(&file), 0o600);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&file, "y").unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "y");
        let appended = dir.join("g");
        open_options()
            .create(true)
            .append(true)
            .open(&appended)
            .unwrap();
        assert_eq!(mode(&appended), 0o600);
    }
}
