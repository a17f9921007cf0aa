"""The on-device part of edgecnn: numpy, Pillow and one interpreter, never tensorflow."""
