"""The `original` preset's motif set: JASPAR 2016's CORE vertebrate matrices, as the released code."""
from speidlib import schema
from speidlib.model.jaspar_init import jaspar_init_table, load_motifs
from speidlib.model.presets import PRESETS


def test_original_starts_one_kernel_from_every_jaspar_2016_matrix():
    orig = PRESETS["original"]
    assert (orig.jaspar_release, orig.jaspar_kernels) == ("JASPAR2016", 519)
    every = {m.matrix_id for m in load_motifs("JASPAR2016")}
    assert len(every) == 519
    table = jaspar_init_table("original", seed=0)
    for branch in schema.BRANCHES:
        rows = table[table.branch == branch]
        # each matrix once, in kernels 0-518 of both branches, read forward at offsets 13..37-L
        assert set(rows.matrix_id) == every and rows.kernel.tolist() == list(range(519))
        assert ((rows.offset >= 13) & (rows.offset + rows.length <= 37)).all()
    assert set(table.release) == {"JASPAR2016"}
