//! Target `lvm_vg`: see `evms_activate_fuzz::run_lvm_vg` for the input form.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = evms_activate_fuzz::run_lvm_vg(data);
});
