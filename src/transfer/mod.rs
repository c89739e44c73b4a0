//! Moving statements in and out of the store without HTTP: `import`
//! (files exported by other LRSs, validated like the Statement Resource) and
//! `export` (JSON lines of stored statements).

pub mod export;
pub mod import;
pub mod source;
