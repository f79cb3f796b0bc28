"""The emulated AWS used by `make demo` and the end-to-end tests (moto in one process).

Everything that changes moto's behaviour lives in `moto_patches`; nothing here is product code.
"""
