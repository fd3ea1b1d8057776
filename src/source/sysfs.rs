//! Typed records of the kernel's block devices from a sysfs root given as a parameter.
