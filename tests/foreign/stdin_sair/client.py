# Cliente do chat: pergunta host, porta e apelido; "sair" encerra.
import os
import socket
import threading

host = input('Host: ')
porta = int(input('Porta: '))
apelido = input('Apelido: ')

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.connect((host, porta))
if sock.recv(1024) != b'APELIDO':
    print('O servidor não pediu o apelido.')
    raise SystemExit(1)
sock.send(apelido.encode())
saindo = threading.Event()


def receber():
    while True:
        try:
            msg = sock.recv(1024)
        except OSError:
            if saindo.is_set():
                return
            print('Conexão perdida.')
            os._exit(1)
        if not msg:
            print('Servidor desconectou.')
            os._exit(1)
        if msg == b'BYE':
            return
        print(msg.decode(errors='replace'))


threading.Thread(target=receber, daemon=True).start()
while True:
    try:
        msg = input()
    except EOFError:
        msg = 'sair'
    if msg == 'sair':
        saindo.set()
    sock.send(msg.encode())
    if saindo.is_set():
        break
sock.close()
print('Até logo!')
