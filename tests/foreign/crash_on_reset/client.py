# Cliente do chat.  Uso: python client.py HOST PORTA
# O servidor pergunta o nome; "/sair" ou Ctrl-D sai.
import os
import socket
import sys
import threading

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect((sys.argv[1], int(sys.argv[2])))
pergunta = s.recv(1024).decode()
nome = input(pergunta)
s.send(nome.encode())
saindo = threading.Event()


def receber():
    while True:
        try:
            dados = s.recv(1024)
        except OSError:
            if saindo.is_set():
                return
            print('Conexão perdida.')
            os._exit(1)
        if not dados:
            if saindo.is_set():
                return
            print('Conexão encerrada.')
            os._exit(1)
        print(dados.decode(errors='replace'))


threading.Thread(target=receber, daemon=True).start()
while True:
    try:
        msg = input()
    except EOFError:
        msg = '/sair'
    if msg == '/sair':
        saindo.set()
    s.send(msg.encode())
    if saindo.is_set():
        break
s.close()
