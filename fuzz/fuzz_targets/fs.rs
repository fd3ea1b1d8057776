//! Target `fs`: see `evms_activate_fuzz::run_fs` for the input form.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = evms_activate_fuzz::run_fs(data);
});
