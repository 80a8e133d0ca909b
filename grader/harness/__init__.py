"""Running untrusted programs: the sandbox, one program's life, the ports and the
interpreter it gets, and the submission's servers.

- :mod:`.sandbox`      limits, process groups, cgroups: nothing outlives its run;
- :mod:`.programs`     one sandboxed program, its output, its stop; :class:`~.programs.Reaper`;
- :mod:`.ports`        loopback ports a server may be given;
- :mod:`.interpreter`  the package-free Python that runs a submission;
- :mod:`.servers`      how a submission's server is launched, waited for and shared.

What the sandbox protects against, and what it does not, is in ``SANDBOX.md``.
"""
