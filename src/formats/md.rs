//! MD RAID superblocks 0.90 (both byte orders) and 1.0/1.1/1.2.
