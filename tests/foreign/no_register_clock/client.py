# cliente.py - pergunta o nome e manda "nome: mensagem" para cada linha
# (escrito e testado no Python 3.12)
# Não tem cadastro: o servidor não sabe nomes, só repassa o que chega.
# Uma thread escuta o servidor e imprime; a principal lê o teclado.
# Para sair: Ctrl-D.
import os
import socket
import threading

HOST = '127.0.0.1'
PORTA = 32717

nome = input('Seu nome: ')
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect((HOST, PORTA))
print('Conectado! Pode digitar.')


def ouvir():
    # fica recebendo e imprimindo até o servidor fechar
    while True:
        try:
            dados = s.recv(1024)
        except OSError:
            os._exit(1)
        if not dados:
            print('Servidor fechou a conexão.')
            os._exit(1)
        print(f"{dados.decode("utf-8", "replace")}")


threading.Thread(target=ouvir, daemon=True).start()
while True:
    try:
        msg = input()
    except EOFError:  # Ctrl-D sai
        break
    s.send(f"{nome}: {msg}".encode())

s.close()
print('Tchau!')
