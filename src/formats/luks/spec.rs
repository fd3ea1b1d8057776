//! Cipher specifications as LUKS headers and dm-crypt tables write them: `cipher-mode-iv`
//! (`aes-xts-plain64`, `aes-cbc-essiv:sha256`, `serpent-xts-plain64`) as cryptsetup's
//! `crypt_parse_name_and_mode` splits them, and the kernel crypto API form
//! `capi:mode(cipher)-iv` that cryptsetup uses for some LUKS2 segments.

/// A cipher specification split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CipherSpec {
    /// The block cipher (`aes`), or the crypto API template for the `capi:` form
    /// (`xts(aes)`); `cipher_null` for the null cipher.
    pub cipher: String,
    /// The block mode (`xts`, `cbc`, `ecb`); empty for the `capi:` form.
    pub mode: String,
    /// The IV generator with its argument (`plain64`, `essiv:sha256`), when there is one.
    pub iv: Option<String>,
    /// Written in the `capi:` form.
    pub capi: bool,
}

impl CipherSpec {
    /// Splits `s`; `None` when it is not a specification cryptsetup accepts.
    pub fn parse(s: &str) -> Option<CipherSpec> {
        if s.is_empty() || s.len() > 128 || s.contains(char::is_whitespace) {
            return None;
        }
        if let Some(rest) = s.strip_prefix("capi:") {
            // The IV is after the last '-' that follows the closing parenthesis.
            let close = rest.rfind(')')?;
            let (tmpl, tail) = rest.split_at(close + 1);
            let iv = tail.strip_prefix('-').filter(|v| !v.is_empty())?;
            if !tail.is_empty() && !tail.starts_with('-') {
                return None;
            }
            return Some(CipherSpec {
                cipher: tmpl.to_string(),
                mode: String::new(),
                iv: Some(iv.to_string()),
                capi: true,
            });
        }
        if s == "null" || s == "cipher_null" {
            return Some(CipherSpec {
                cipher: "cipher_null".into(),
                mode: "ecb".into(),
                iv: None,
                capi: false,
            });
        }
        let (cipher, cipher_mode) = match s.split_once('-') {
            Some((c, m)) if !c.is_empty() && !m.is_empty() => {
                (c, if m == "plain" { "cbc-plain" } else { m })
            }
            Some(_) => return None,
            None => (s, "cbc-plain"),
        };
        let (mode, iv) = match cipher_mode.split_once('-') {
            Some((m, iv)) if !m.is_empty() && !iv.is_empty() => (m, Some(iv.to_string())),
            Some(_) => return None,
            None => (cipher_mode, None),
        };
        Some(CipherSpec {
            cipher: cipher.to_string(),
            mode: mode.to_string(),
            iv,
            capi: false,
        })
    }

    /// The kernel modules a dm-crypt table with this specification needs, as names and
    /// `crypto-*` aliases (modules.alias resolves them; a name no module provides is built in
    /// or not needed): dm-crypt, the cipher, the mode template, a driver for the combination
    /// (`crypto-xts(aes)`: aesni_intel), and the ESSIV template with its hash.
    pub fn kernel_modules(&self) -> Vec<String> {
        let mut v = vec!["dm-crypt".to_string()];
        let mut add = |s: String| {
            if !v.contains(&s) {
                v.push(s);
            }
        };
        if self.capi {
            // Every algorithm named in the template, outermost first, and the whole.
            add(format!("crypto-{}", self.cipher));
            for name in self.cipher.split(['(', ')', ',']).filter(|n| !n.is_empty()) {
                add(format!("crypto-{name}"));
            }
        } else if self.cipher != "cipher_null" {
            add(format!("crypto-{}({})", self.mode, self.cipher));
            add(format!("crypto-{}", self.mode));
            add(format!("crypto-{}", self.cipher));
        }
        if let Some(h) = self.iv.as_deref().and_then(|iv| iv.strip_prefix("essiv:")) {
            add("crypto-essiv".into());
            add(format!("crypto-{h}"));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> (String, String, Option<String>) {
        let c = CipherSpec::parse(s).unwrap_or_else(|| panic!("{s}"));
        (c.cipher, c.mode, c.iv)
    }

    #[test]
    fn splits_as_cryptsetup() {
        assert_eq!(
            p("aes-xts-plain64"),
            ("aes".into(), "xts".into(), Some("plain64".into()))
        );
        assert_eq!(
            p("aes-cbc-essiv:sha256"),
            ("aes".into(), "cbc".into(), Some("essiv:sha256".into()))
        );
        assert_eq!(
            p("aes-plain"),
            ("aes".into(), "cbc".into(), Some("plain".into()))
        );
        assert_eq!(p("aes"), ("aes".into(), "cbc".into(), Some("plain".into())));
        assert_eq!(p("aes-ecb"), ("aes".into(), "ecb".into(), None));
        assert_eq!(p("null"), ("cipher_null".into(), "ecb".into(), None));
        let c = CipherSpec::parse("capi:xts(aes)-plain64").unwrap();
        assert!(c.capi);
        assert_eq!(
            (c.cipher.as_str(), c.iv.as_deref()),
            ("xts(aes)", Some("plain64"))
        );
        for bad in [
            "",
            "-xts",
            "aes-",
            "aes-xts-",
            "capi:xts(aes)",
            "capi:xts(aes)x",
            "a b",
        ] {
            assert_eq!(CipherSpec::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn modules_for_boot() {
        let m = |s: &str| CipherSpec::parse(s).unwrap().kernel_modules();
        assert_eq!(
            m("aes-xts-plain64"),
            ["dm-crypt", "crypto-xts(aes)", "crypto-xts", "crypto-aes"]
        );
        assert_eq!(
            m("aes-cbc-essiv:sha256"),
            [
                "dm-crypt",
                "crypto-cbc(aes)",
                "crypto-cbc",
                "crypto-aes",
                "crypto-essiv",
                "crypto-sha256"
            ]
        );
        assert_eq!(
            m("capi:xts(serpent)-plain64"),
            [
                "dm-crypt",
                "crypto-xts(serpent)",
                "crypto-xts",
                "crypto-serpent"
            ]
        );
        assert_eq!(m("null"), ["dm-crypt"]);
    }
}
