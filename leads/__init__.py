"""The mirrored Kartra data: leads, catalogues and each lead's state in them."""
