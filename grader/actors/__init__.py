"""The other side of every conversation a check has with the submission.

- :mod:`.fake_client`     a chat client on a raw socket (:class:`~.fake_client.Peer`);
- :mod:`.fake_server`     a one-connection chat server, to test the student's client;
- :mod:`.student_client`  the student's own client under a pseudo-terminal;
- :mod:`.transcript`      who sent and received what, in order, for the student;
- :mod:`.lines`           cutting a byte stream into lines (no sockets in it).
"""
