//! The C API of libbeostat (filled in below).
