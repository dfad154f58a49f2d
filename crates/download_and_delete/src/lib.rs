//! What download_and_delete does apart from the book's steps: which headers and text parts
//! of a message it shows, what it sends ahead, and how much it reads. A library so that tests and fuzz targets
//! reach it.

pub mod ahead;
pub mod limits;
pub mod message;
