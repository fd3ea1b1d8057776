//! Target `mbr`: see `evms_activate_fuzz::run_mbr` for the input form.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = evms_activate_fuzz::run_mbr(data);
});
