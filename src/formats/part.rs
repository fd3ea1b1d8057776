//! The partition-table value shared by GPT and MBR.
