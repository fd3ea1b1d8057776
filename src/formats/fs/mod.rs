//! Identification superblocks (type, UUID, LABEL) for root=UUID=/LABEL= and the mount type.
