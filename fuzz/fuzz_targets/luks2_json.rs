//! Target `luks2_json`: see `evms_activate_fuzz::run_luks2_json` for the input form.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = evms_activate_fuzz::run_luks2_json(data);
});
