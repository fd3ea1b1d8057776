//! Target `luks2_pair`: see `evms_activate_fuzz::run_luks2_pair` for the input form.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = evms_activate_fuzz::run_luks2_pair(data);
});
