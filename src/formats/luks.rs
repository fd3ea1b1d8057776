//! LUKS1/LUKS2 headers: type, UUID, LABEL (identification only).
