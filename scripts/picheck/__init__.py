"""pi-check: edgecnn on emulated Raspberry Pi OS userlands (`make pi-check`; docs/pi.md).

The parts, one job each:

- `targets`   what is checked: the roots (Debian suite x architecture), the installs in
               them (README's exact pip lines) and the emulated Pi CPUs;
- `shell`     running commands, the one error type (Fail) and progress output;
- `host`      the host's tools, binfmt handlers, Debian mirror and package registry;
- `rootfs`    building, caching and entering a root (debootstrap, qemu-user, mounts);
- `install`   the edgecnn wheel and the venvs made inside a root as a Pi user makes them;
- `stage`     the model, sample pictures and sample video copied to the "Pi";
- `on_device` the program that runs inside the root (latency and pixel digests);
- `steps`     the checks run in a root: classify, camera, doctor, runtime tests;
- `report`    comparing with the desktop and rendering the tables (pure functions);
- `main`      the command line and the order of things.
"""
