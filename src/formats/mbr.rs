//! MBR (DOS) partition table with the EBR chain; protective/hybrid MBR detection.
