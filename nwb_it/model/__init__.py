"""VideoMAE activations for the clips shown to the monkey (extra ``model``: torch, transformers, pillow)."""
