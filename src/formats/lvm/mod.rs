//! LVM2: label, pv_header, mda_header + raw_locn, metadata text, VG model.
