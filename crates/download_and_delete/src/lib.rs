//! What download_and_delete does with a message, apart from the session: which headers and
//! text parts it shows. A library so that tests and fuzz targets reach it.

pub mod message;
